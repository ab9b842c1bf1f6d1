package ocicache

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// Closing the server does not wait for the connections a client has open
// (an engine leaves one open and unused, or stops mid-request): it cuts
// them, so it has no deadline to run into, and they are closed when it
// returns. A CI run waits for Close at exit.
func TestCloseDoesNotWaitForOpenConnections(t *testing.T) {
	s := Open(t.TempDir(), nil)
	srv, err := s.Serve()
	if err != nil {
		t.Fatal(err)
	}
	unused := dial(t, srv.Host)
	halfway := dial(t, srv.Host)
	if _, err := halfway.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	// The server accepts connections in order: once a request on a later
	// connection is answered, the two before it are accepted and tracked.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + srv.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close waited for the open connections: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close hung on the open connections")
	}
	for name, conn := range map[string]net.Conn{"unused": unused, "mid-request": halfway} {
		if err := readsEOF(conn); err != nil {
			t.Errorf("the %s connection after Close: %v", name, err)
		}
	}
}

// dial opens a connection to host, closed with the test.
func dial(t *testing.T, host string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readsEOF says why conn is not closed by its other end: a read that
// times out (a guard against hanging, not a measure) means it is open.
func readsEOF(conn net.Conn) error {
	if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	n, err := conn.Read(make([]byte, 512))
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return nil
	case err == nil:
		return fmt.Errorf("still open: read %d bytes", n)
	}
	return fmt.Errorf("still open: %w", err)
}
