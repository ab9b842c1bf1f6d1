package main

import (
	"path/filepath"
	"testing"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/compose"
)

// TestExampleSharesServicesAndUsesCompose: the example pipeline shows what
// issue 15 added: it loads, reads services from a compose file and uses
// one, and lists a service in two targets (one shared per run).
func TestExampleSharesServicesAndUsesCompose(t *testing.T) {
	f, err := taskfile.LoadWith(filepath.Join("..", "..", "Taskfile.example.toml"), taskfile.Options{Compose: compose.Services})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Compose) == 0 {
		t.Fatal("the example names no compose file")
	}
	users := map[string]int{}
	for _, tg := range f.Targets {
		for _, s := range tg.Services {
			users[s]++
		}
	}
	fromCompose, shared := false, false
	for name, n := range users {
		svc := f.Services[name]
		fromCompose = fromCompose || svc != nil && svc.From != ""
		shared = shared || n > 1
	}
	if !fromCompose {
		t.Error("no target of the example uses a service of its compose file")
	}
	if !shared {
		t.Error("no service of the example is listed by two targets")
	}
}
