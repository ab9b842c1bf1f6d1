package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// fakeEngine (`fakeengine API RELEASE`) serves /_ping and /version as a
// Docker engine offering API and points the script's DOCKER_HOST at it.
func fakeEngine(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: fakeengine API RELEASE")
	}
	api, release := args[0], args[1]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", api)
		switch {
		case r.URL.Path == "/_ping":
			fmt.Fprint(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/version"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"Version":%q,"ApiVersion":%q,"Os":"linux"}`, release, api)
		default:
			http.Error(w, `{"message":"not an engine"}`, http.StatusNotFound)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("DOCKER_HOST", "tcp://"+strings.TrimPrefix(srv.URL, "http://"))
}
