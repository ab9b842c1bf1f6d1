package ocicache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Repo is the repository every entry is served under.
const Repo = "dtask/cache"

// Server is a registry on 127.0.0.1 serving the store's entries. Docker
// treats 127.0.0.0/8 as an insecure registry and BuildKit uses plain HTTP
// for 127.0.0.1, so no certificate is involved and nothing is reachable
// from outside the machine. Blobs are read from the layout as asked;
// manifests are registered from index.json when the server starts and
// as entries are added.
type Server struct {
	store *Store
	h     http.Handler
	srv   *http.Server
	// Host is "127.0.0.1:PORT".
	Host string
}

// Serve starts a server for the store's entries.
func (s *Store) Serve() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("image cache registry: %w", err)
	}
	v := &Server{store: s, Host: ln.Addr().String()}
	v.h = registry.New(registry.WithBlobHandler(blobs{s}), registry.Logger(log.New(io.Discard, "", 0)))
	var h http.Handler = v.h
	if os.Getenv("DTASK_DEBUG_REGISTRY") != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := time.Now()
			v.h.ServeHTTP(w, r)
			fmt.Fprintf(os.Stderr, "registry: %s %s %s\n", r.Method, r.URL.Path, time.Since(t))
		})
	}
	v.srv = &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	for _, d := range s.Index().Manifests {
		if ref := d.Annotations[AnnotationRef]; ref != "" && s.complete(d) {
			_ = v.Add(ref, d)
		}
	}
	go func() { _ = v.srv.Serve(ln) }()
	return v, nil
}

// Ref is what the engine pulls or imports cache from for tag.
func (v *Server) Ref(tag string) string { return v.Host + "/" + Repo + ":" + tag }

// DigestRef names an entry by digest.
func (v *Server) DigestRef(d v1.Hash) string { return v.Host + "/" + Repo + "@" + d.String() }

// Add registers entry d under tag (empty: by digest only), with the
// manifests under it first, as a registry wants.
func (v *Server) Add(tag string, d v1.Descriptor) error {
	b, err := v.store.ReadBlob(d.Digest)
	if err != nil {
		return err
	}
	if d.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(b))
		if err != nil {
			return err
		}
		for _, c := range im.Manifests {
			if _, err := v.store.BlobSize(c.Digest); err == nil {
				_ = v.Add("", c)
			}
		}
	}
	ref := d.Digest.String()
	if tag != "" {
		ref = tag
	}
	req := httptest.NewRequest(http.MethodPut, "/v2/"+Repo+"/manifests/"+ref, bytes.NewReader(b))
	req.Header.Set("Content-Type", string(d.MediaType))
	rec := httptest.NewRecorder()
	v.h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		return fmt.Errorf("image cache registry: registering %s: %s", ref, rec.Body.String())
	}
	return nil
}

// Close stops the server.
func (v *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return v.srv.Shutdown(ctx)
}

// blobs serves blobs from the layout. It takes no uploads: the engine
// only reads from this registry.
type blobs struct{ s *Store }

func (b blobs) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	n, err := b.s.BlobSize(h)
	if errors.Is(err, os.ErrNotExist) {
		return 0, registry.ErrNotFound
	}
	return n, err
}

func (b blobs) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	f, err := b.s.OpenBlob(h)
	if errors.Is(err, os.ErrNotExist) {
		return nil, registry.ErrNotFound
	}
	return f, err
}
