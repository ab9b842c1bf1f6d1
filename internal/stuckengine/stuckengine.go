package stuckengine

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Mode is what the engine does at the request it stops at.
type Mode int

const (
	// Drop closes that request's connection, as an engine that dies.
	Drop Mode = iota
	// Hold never answers that request, as an engine wedged on it.
	Hold
	// HoldAll never answers that request nor any after it, pings
	// included, as an engine that is wedged from then on.
	HoldAll
)

// Engine is a stuck engine being served.
type Engine struct {
	// Host is its DOCKER_HOST, unix://SOCKET.
	Host string
	// Reached is closed when the request it stops at arrives.
	Reached <-chan struct{}

	srv     *http.Server
	reached chan struct{}
	once    sync.Once
	at      string
	mode    Mode
	mu      sync.Mutex
	held    []net.Conn
	closed  bool
}

// Start serves an engine on the unix socket sock that stops at the first
// request whose path contains at ("": the first request, a ping) as mode
// says. Close stops it.
func Start(sock, at string, mode Mode) (*Engine, error) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("stuck engine: %w", err)
	}
	e := &Engine{Host: "unix://" + sock, reached: make(chan struct{}), at: at, mode: mode}
	e.Reached = e.reached
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve)}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

// Close stops serving and closes the connections it holds.
func (e *Engine) Close() error {
	err := e.srv.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.held {
		c.Close()
	}
	e.held, e.closed = nil, true
	return err
}

// serve answers as a Docker 20.10 engine (API 1.41) would, up to the
// request it stops at.
func (e *Engine) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.41")
	switch p := r.URL.Path; {
	case strings.Contains(p, e.at) || e.mode == HoldAll && e.wasReached():
		e.stop(w)
	case p == "/_ping":
		fmt.Fprint(w, "OK")
	case strings.HasSuffix(p, "/version"):
		fmt.Fprint(w, `{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"}`)
	case strings.HasSuffix(p, "/containers/json"):
		fmt.Fprint(w, `[]`)
	case strings.HasSuffix(p, "/images/busybox/json"):
		fmt.Fprint(w, `{"Id":"sha256:`+strings.Repeat("ab", 32)+`","RepoTags":["busybox:latest"],"Config":{},"Os":"linux","Architecture":"amd64"}`)
	default:
		http.Error(w, `{"message":"not faked"}`, http.StatusNotImplemented)
	}
}

func (e *Engine) wasReached() bool {
	select {
	case <-e.reached:
		return true
	default:
		return false
	}
}

// stop holds or drops the request's connection, and says it was reached.
func (e *Engine) stop(w http.ResponseWriter) {
	e.once.Do(func() { close(e.reached) })
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mode == Drop || e.closed {
		c.Close()
		return
	}
	e.held = append(e.held, c)
}
