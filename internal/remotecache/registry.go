package remotecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Registry is the team cache's repository. Records are small OCI
// artifacts tagged by key; images are ordinary images tagged by image ID,
// so the engine pulls and pushes them itself and moves only missing layers.
type Registry struct {
	repo name.Repository
	opts []remote.Option
	sent *atomic.Int64 // bytes uploaded
}

// Open makes a client for c's repository. Credentials come from the Docker
// config and its credential helpers, as docker push finds them; extra
// options (a test's transport) come last.
func Open(c Config, extra ...remote.Option) (*Registry, error) {
	var nopts []name.Option
	if c.PlainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(c.Repo, nopts...)
	if err != nil {
		return nil, fmt.Errorf("remote cache %s: %w", c.Repo, err)
	}
	sent := &atomic.Int64{}
	opts := []remote.Option{
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(&guard{next: baseTransport(), plain: c.PlainHTTP, sent: sent}),
		// One quick retry: a registry that is down must cost little.
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 2}),
		remote.WithUserAgent("dtask"),
	}
	return &Registry{repo: repo, opts: append(opts, extra...), sent: sent}, nil
}

// Name is REGISTRY/REPO, as messages name it.
func (r *Registry) Name() string { return r.repo.Name() }

// Host is the registry's host (and port).
func (r *Registry) Host() string { return r.repo.RegistryStr() }

func (r *Registry) with(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx)}, r.opts...)
}

func baseTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 30 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	return t
}

// guard refuses plain HTTP to anything but loopback unless the user named
// the registry with http:// (go-containerregistry would also use it for
// private address ranges).
type guard struct {
	next  http.RoundTripper
	plain bool
	sent  *atomic.Int64
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.plain && !IsLoopback(req.URL.Host) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: name the cache http://%s/... to allow it", req.URL.Host, req.URL.Host)
	}
	up, _ := req.Context().Value(uploadKey{}).(*upload)
	if req.Body != nil && g.sent != nil {
		req.Body = &countingBody{ReadCloser: req.Body, n: g.sent, up: up}
	}
	resp, err := g.next.RoundTrip(req)
	// A blob upload ends with a PUT naming its digest.
	if up != nil && err == nil && req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated &&
		strings.Contains(req.URL.Path, "/blobs/uploads/") {
		up.blobs.Add(1)
	}
	return resp, err
}

// countingBody counts what an upload sends: in all, and for the one
// push whose context carries an upload.
type countingBody struct {
	io.ReadCloser
	n  *atomic.Int64
	up *upload
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	if c.up != nil {
		c.up.bytes.Add(int64(n))
	}
	return n, err
}

// upload counts the blobs and bytes one push sends (blobs the
// repository has are not sent, so they do not count).
type upload struct {
	blobs, bytes atomic.Int64
}

type uploadKey struct{}

func withUpload(ctx context.Context, up *upload) context.Context {
	return context.WithValue(ctx, uploadKey{}, up)
}

// Sent is how many bytes this client has uploaded.
func (r *Registry) Sent() int64 { return r.sent.Load() }

// Tag names. A tag is at most 128 characters of [A-Za-z0-9_.-].
func recordTag(key string) string { return "k-" + key }

func latestTag(target string) string { return "t-" + slug(target, 40) + "-" + shortHash(target) }

// ImageTag is the tag the team cache keeps image id under ("" when id is
// not a sha256 image ID).
func ImageTag(id string) string {
	hex, ok := strings.CutPrefix(id, "sha256:")
	if !ok || len(hex) != 64 {
		return ""
	}
	return "img-" + hex
}

// StageTag is the tag of the newest image of a named stage of target's
// build, a cache source for the next build anywhere.
func StageTag(target, stage string) string {
	return "s-" + slug(target, 30) + "-" + slug(stage, 30) + "-" + shortHash(target+"\x00"+stage)
}

// Ref is the full reference of tag in the repository.
func (r *Registry) Ref(tag string) string { return r.repo.Tag(tag).String() }

// DigestRef is the full reference of a manifest digest in the repository.
func (r *Registry) DigestRef(digest string) string { return r.repo.Name() + "@" + digest }

func slug(s string, max int) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= max {
			break
		}
	}
	return b.String()
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Head returns the manifest digest tag points at; ok is false when the
// repository has no such tag.
func (r *Registry) Head(ctx context.Context, tag string) (digest string, ok bool, err error) {
	d, err := remote.Head(r.repo.Tag(tag), r.with(ctx)...)
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, r.wrap(err)
	}
	return d.Digest.String(), true, nil
}

// ImageConfig returns the config of the image whose manifest digest is
// digest, and the config's digest: both read by digest, so checked.
func (r *Registry) ImageConfig(ctx context.Context, digest string) (config string, raw []byte, err error) {
	img, err := remote.Image(r.repo.Digest(digest), r.with(ctx)...)
	if err != nil {
		return "", nil, r.wrap(err)
	}
	h, err := img.ConfigName()
	if err != nil {
		return "", nil, r.wrap(err)
	}
	raw, err = img.RawConfigFile()
	if err != nil {
		return "", nil, r.wrap(err)
	}
	return h.String(), raw, nil
}

// wrap names the registry in an error.
func (r *Registry) wrap(err error) error {
	return fmt.Errorf("remote cache %s: %w", r.Name(), err)
}

// isNotFound tells a missing tag or blob (a miss) from a fault.
func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, e := range te.Errors {
		switch e.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return true
		}
	}
	return false
}

// parseHash checks a digest string.
func parseHash(s string) (v1.Hash, error) { return v1.NewHash(s) }
