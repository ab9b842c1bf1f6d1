package ocicache

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A client's push lands in the layout: every blob under its digest, the
// tag in index.json, no temporary file left; a second push of the same
// image uploads nothing (every blob is there).
func TestPushIntoStore(t *testing.T) {
	s, srv := servedStore(t)
	img, err := random.Image(3<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(srv.Ref("app.image"), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, ok := s.Resolve("app.image")
	if !ok {
		t.Fatal("the pushed tag does not resolve to a complete entry")
	}
	if want, _ := img.Digest(); d.Digest != want {
		t.Errorf("stored manifest %s, pushed %s", d.Digest, want)
	}
	if tmps, _ := filepath.Glob(filepath.Join(s.Dir(), "tmp", "blob-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
	var uploaded []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPatch || (r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/uploads/")) {
			uploaded = append(uploaded, r.URL.Path)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	if err := remote.Write(ref, img, remote.WithTransport(rt)); err != nil {
		t.Fatal(err)
	}
	if len(uploaded) != 0 {
		t.Errorf("a second push uploaded %v", uploaded)
	}
}

// servedStore is an empty layout and its registry, closed with the test.
func servedStore(t *testing.T) (*Store, *Server) {
	t.Helper()
	s := Open(t.TempDir(), nil)
	srv, err := s.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return s, srv
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// An upload goes to a file as it arrives, not into memory; one whose
// content does not match the digest it is closed with is refused and
// leaves nothing in the layout.
func TestUploadWrongDigest(t *testing.T) {
	s, srv := servedStore(t)
	base := "http://" + srv.Host
	resp, err := http.Post(base+uploadsPath, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("starting an upload: %s, Location %q", resp.Status, loc)
	}
	chunk := strings.Repeat("x", 1<<20)
	req, _ := http.NewRequest(http.MethodPatch, base+loc, strings.NewReader(chunk))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tmps, _ := filepath.Glob(filepath.Join(s.Dir(), "tmp", "blob-*"))
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != "0-1048575" || len(tmps) != 1 {
		t.Fatalf("a 1 MB chunk: %s, Range %q, temporary files %v", resp.Status, resp.Header.Get("Range"), tmps)
	}
	if fi, err := os.Stat(tmps[0]); err != nil || fi.Size() != 1<<20 {
		t.Fatalf("the chunk is not on disk: %v", err)
	}
	claimed := digestOf([]byte("other content"))
	req, _ = http.NewRequest(http.MethodPut, base+loc+"?digest="+claimed, strings.NewReader("some content"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("closing with a wrong digest: %s, want 400", resp.Status)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "blobs", "sha256", claimed[7:])); err == nil {
		t.Error("the wrong content was stored under the claimed digest")
	}
	if tmps, _ := filepath.Glob(filepath.Join(s.Dir(), "tmp", "blob-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// Closing the server does not wait for a connection a client opened and
// never used (an engine does this): a CI run waits for Close at exit.
func TestCloseDoesNotWaitForIdleConnections(t *testing.T) {
	s := Open(t.TempDir(), nil)
	srv, err := s.Serve()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The server accepts connections in order: once a request on a later
	// connection is answered, the unused one is accepted and tracked.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + srv.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s with an unused connection open", d)
	}
}
