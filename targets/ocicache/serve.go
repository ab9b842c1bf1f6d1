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
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
	up    *uploads
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
	v := &Server{store: s, Host: ln.Addr().String(), up: &uploads{s: s}}
	v.h = registry.New(registry.WithBlobHandler(blobs{s}), registry.Logger(log.New(io.Discard, "", 0)))
	var h http.Handler = http.HandlerFunc(v.serve)
	if os.Getenv("DTASK_DEBUG_REGISTRY") != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := time.Now()
			v.serve(w, r)
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

// serve passes requests to the registry, and keeps a manifest an engine
// pushes under a tag in the store, so that a push from the engine is a
// save: the engine uploads only the blobs the store lacks.
func (v *Server) serve(w http.ResponseWriter, r *http.Request) {
	if v.up.handles(r) {
		v.up.serve(w, r)
		return
	}
	prefix := "/v2/" + Repo + "/manifests/"
	tag, ok := strings.CutPrefix(r.URL.Path, prefix)
	if r.Method != http.MethodPut || !ok || strings.HasPrefix(tag, "sha256:") {
		v.h.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, smallMember))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d, err := v.store.PutBytes(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	d.MediaType = types.MediaType(r.Header.Get("Content-Type"))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	v.h.ServeHTTP(rec, r)
	if rec.Code/100 == 2 {
		if err := v.store.Tag(r.Context(), tag, d); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// Close stops the server at once. dtask closes it when the run's saves and
// builds are done, so no request it could cut matters; a graceful shutdown
// would wait up to its deadline for a connection an engine opened and never
// used (net/http counts such a connection busy until it is 5 s old), which
// held a CI run's exit for 5 s in about half the runs.
func (v *Server) Close() error {
	err := v.srv.Close()
	v.up.abortAll()
	return err
}

// blobs serves blobs from the layout and takes an engine's uploads into
// it, each checked against its digest.
type blobs struct{ s *Store }

func (b blobs) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	n, err := b.s.BlobSize(h)
	if errors.Is(err, os.ErrNotExist) {
		return 0, registry.ErrNotFound
	}
	return n, err
}

func (b blobs) Put(_ context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	if _, err := b.s.BlobSize(h); err == nil {
		_, err = io.Copy(io.Discard, rc)
		return err
	}
	w, err := b.s.newBlob()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, rc); err != nil {
		w.abort()
		return err
	}
	_, err = w.commit(&h)
	return err
}

func (b blobs) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	f, err := b.s.OpenBlob(h)
	if errors.Is(err, os.ErrNotExist) {
		return nil, registry.ErrNotFound
	}
	return f, err
}
