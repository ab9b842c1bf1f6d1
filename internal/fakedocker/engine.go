package fakedocker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// APIVersion is the version the fake says it speaks.
const APIVersion = "1.47"

// Outcome is what a started container does: print, then exit with Code,
// or keep running until it is stopped when Block is set.
type Outcome struct {
	Stdout, Stderr string
	Code           int
	Block          bool
}

// Engine is the fake engine. Its zero value is not usable: call New.
type Engine struct {
	// Run decides what a started container does from its image and
	// command; nil: it exits 0 at once without output.
	Run func(image string, cmd []string) Outcome

	mu         sync.Mutex
	containers map[string]*ctr
	networks   map[string]*netw
	images     map[string]string // ref or ID -> image ID
	volumes    map[string]map[string]string
	fail       map[string]error
	holds      map[string]*hold
	calls      []string
	next       int
}

// New returns an empty engine.
func New() *Engine {
	return &Engine{
		containers: map[string]*ctr{},
		networks:   map[string]*netw{},
		images:     map[string]string{},
		volumes:    map[string]map[string]string{},
		fail:       map[string]error{},
		holds:      map[string]*hold{},
	}
}

// Client is a connection to the engine, as docker.ConnectHost returns.
func (f *Engine) Client() *docker.Client {
	return &docker.Client{API: f, Host: "fake://engine", APIVersion: APIVersion}
}

// Dial is the engine as a targets.Env Dial: every host reaches it.
func (f *Engine) Dial(context.Context, string) (*docker.Client, error) {
	return f.Client(), nil
}

// Fail makes every later call of method (such as "ContainerStart") return err.
func (f *Engine) Fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// Calls lists the methods called so far, in order.
func (f *Engine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// call records a call of method and returns its injected failure, if any.
// The caller holds f.mu.
func (f *Engine) call(method string) error {
	f.calls = append(f.calls, method)
	return f.fail[method]
}

// newID returns a fresh 64-hex-digit ID, as the engine's are.
func (f *Engine) newID() string {
	f.next++
	return fmt.Sprintf("%064x", f.next)
}

func notFound(what, name string) error {
	return fmt.Errorf("%w: no such %s: %s", cerrdefs.ErrNotFound, what, name)
}

// matches reports whether an object with labels and name passes the
// "label" and "name" filters, as the engine applies them.
func matches(fl client.Filters, labels map[string]string, name string) bool {
	for want := range fl["label"] {
		k, v, hasValue := strings.Cut(want, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	if names := fl["name"]; len(names) > 0 {
		found := false
		for n := range names {
			found = found || strings.Contains(name, n)
		}
		return found
	}
	return true
}
