package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeEngine answers /_ping and /version as an engine offering api.
func fakeEngine(t *testing.T, api, release string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", api)
		w.Header().Set("Ostype", "linux")
		switch {
		case r.URL.Path == "/_ping":
			fmt.Fprint(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/version"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"Version":%q,"ApiVersion":%q,"MinAPIVersion":"1.12","Os":"linux"}`, release, api)
		default:
			http.Error(w, `{"message":"page not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + strings.TrimPrefix(srv.URL, "http://")
}

func TestConnectRefusesAnOldEngine(t *testing.T) {
	t.Setenv("DOCKER_API_VERSION", "")
	for _, c := range []struct{ api, release string }{
		{"1.40", "19.03.15"}, // the client library still speaks it; dtask does not
		{"1.24", "1.12.6"},   // older than the client library too
	} {
		host := fakeEngine(t, c.api, c.release)
		_, err := Connect(context.Background(), host)
		var ue *UnreachableError
		if !errors.As(err, &ue) || ue.ExitCode() != 3 {
			t.Fatalf("API %s: err = %v, want an UnreachableError (exit 3)", c.api, err)
		}
		msg := err.Error()
		for _, want := range []string{host, "too old", "Docker " + c.release + " speaks API " + c.api, "needs API 1.41 or newer"} {
			if !strings.Contains(msg, want) {
				t.Errorf("API %s: %q lacks %q", c.api, msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("API %s: not one line: %q", c.api, msg)
		}
	}
}

func TestConnectNegotiatesUpToTheEngine(t *testing.T) {
	t.Setenv("DOCKER_API_VERSION", "")
	for _, api := range []string{"1.41", "1.51"} {
		c, err := Connect(context.Background(), fakeEngine(t, api, "x"))
		if err != nil {
			t.Fatalf("API %s: %v", api, err)
		}
		if c.APIVersion != api {
			t.Errorf("engine offers %s, negotiated %s", api, c.APIVersion)
		}
		c.Close()
	}
}
