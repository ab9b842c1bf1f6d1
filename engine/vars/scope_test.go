package vars

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// specLayers mirrors the order docs/taskfile.md gives: command line, environment, [vars], built-ins, process env.
func specLayers(cmdline, envX, vars, builtin, procEnv map[string]string) []Layer {
	return []Layer{
		{Name: "command line", Vars: cmdline},
		{Name: "environment staging", Vars: envX, Template: true},
		{Name: "vars", Vars: vars, Template: true},
		{Name: "built-in", Vars: builtin},
		{Name: "process environment", Vars: procEnv},
	}
}

func TestScopePrecedence(t *testing.T) {
	s := NewScope(specLayers(
		map[string]string{"ONLY_CMD": "cmd", "ALL": "cmd"},
		map[string]string{"ALL": "env", "ENV_VAR": "env", "NODE_ENV": "staging"},
		map[string]string{"ALL": "vars", "ENV_VAR": "vars", "V": "vars", "NODE_ENV": "dev"},
		map[string]string{"ALL": "builtin", "V": "builtin", "GIT_BRANCH": "main", "B": "builtin"},
		map[string]string{"ALL": "proc", "B": "proc", "GIT_BRANCH": "origin/main", "P": "proc"},
	)...)
	for name, want := range map[string]string{
		"ONLY_CMD": "cmd", "ALL": "cmd", "ENV_VAR": "env", "NODE_ENV": "staging",
		"V": "vars", "B": "builtin", "GIT_BRANCH": "main", "P": "proc",
	} {
		got, ok, err := s.Lookup(name)
		if err != nil || !ok || got != want {
			t.Errorf("Lookup(%s) = %q, %v, %v; want %q", name, got, ok, err, want)
		}
	}
	if v, ok, err := s.Lookup("NOWHERE"); ok || err != nil || v != "" {
		t.Errorf("Lookup(NOWHERE) = %q, %v, %v; want unset", v, ok, err)
	}
}

func TestScopeTemplates(t *testing.T) {
	s := NewScope(specLayers(
		map[string]string{"LITERAL": "${NOT_EXPANDED}"},
		map[string]string{"TAG": "${APP}-staging"},
		map[string]string{
			"APP":   "shop",
			"IMAGE": "${APP}:${GIT_SHORT_SHA}",
			"FULL":  "${REGISTRY:-none}/${IMAGE}",
			"PRICE": "5$$",
		},
		map[string]string{"GIT_SHORT_SHA": "abc1234"},
		map[string]string{"REGISTRY": "reg:5000", "PROC": "${NOT_EXPANDED_EITHER}"},
	)...)
	for name, want := range map[string]string{
		"IMAGE":   "shop:abc1234",
		"FULL":    "reg:5000/shop:abc1234",
		"TAG":     "shop-staging",
		"LITERAL": "${NOT_EXPANDED}", // command line values are not templates here
		"PROC":    "${NOT_EXPANDED_EITHER}",
		"PRICE":   "5$",
	} {
		got, _, err := s.Lookup(name)
		if err != nil || got != want {
			t.Errorf("Lookup(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	got, err := s.Expand("docker push ${FULL} # $HOME $$")
	if err != nil || got != "docker push reg:5000/shop:abc1234 # $HOME $" {
		t.Errorf("Expand = %q, %v", got, err)
	}
}

func TestScopeSelfReference(t *testing.T) {
	vars := map[string]string{"REGISTRY": "${REGISTRY:-127.0.0.1:5000}", "PATHX": "${PATHX}:/extra"}
	tests := []struct {
		name          string
		cmd, env, bin map[string]string
		proc          map[string]string
		want          string
	}{
		{"default when unset below", nil, nil, nil, nil, "127.0.0.1:5000"},
		{"from process env", nil, nil, nil, map[string]string{"REGISTRY": "ghcr.io/me"}, "ghcr.io/me"},
		{"empty in process env takes the default (:-)", nil, nil, nil, map[string]string{"REGISTRY": ""}, "127.0.0.1:5000"},
		{"built-in before process env", nil, nil, map[string]string{"REGISTRY": "bi"}, map[string]string{"REGISTRY": "proc"}, "bi"},
		{"command line wins outright", map[string]string{"REGISTRY": "cli"}, nil, nil, map[string]string{"REGISTRY": "proc"}, "cli"},
		{"environment refers to itself, finds [vars]", nil, map[string]string{"REGISTRY": "${REGISTRY}/staging"}, nil, map[string]string{"REGISTRY": "proc"}, "proc/staging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewScope(specLayers(tt.cmd, tt.env, vars, tt.bin, tt.proc)...)
			got, ok, err := s.Lookup("REGISTRY")
			if err != nil || !ok || got != tt.want {
				t.Errorf("REGISTRY = %q, %v, %v; want %q", got, ok, err, tt.want)
			}
		})
	}
	// A self-reference with nothing below and no default is undefined.
	s := NewScope(specLayers(nil, nil, vars, nil, map[string]string{})...)
	_, _, err := s.Lookup("PATHX")
	var u *UndefinedError
	if !errors.As(err, &u) || u.Name != "PATHX" {
		t.Fatalf("PATHX error = %v, want undefined PATHX", err)
	}
	if !strings.Contains(err.Error(), "PATHX in vars: undefined variable PATHX") {
		t.Errorf("error %q does not say where", err)
	}
	s = NewScope(specLayers(nil, nil, vars, nil, map[string]string{"PATHX": "/bin"})...)
	if got, _, err := s.Lookup("PATHX"); err != nil || got != "/bin:/extra" {
		t.Errorf("PATHX = %q, %v", got, err)
	}
}

func TestScopeCycles(t *testing.T) {
	tests := []struct {
		vars map[string]string
		look string
		want string
	}{
		{map[string]string{"A": "${B}", "B": "${A}"}, "A", "A -> B -> A"},
		{map[string]string{"A": "${B}", "B": "${A}"}, "B", "B -> A -> B"},
		{map[string]string{"A": "x${B}", "B": "${C:-y}", "C": "${A}"}, "A", "A -> B -> C -> A"},
		{map[string]string{"TOP": "${A}", "A": "${B}", "B": "${A}"}, "TOP", "A -> B -> A"},
		// A default does not break a cycle: the name is defined, so it is expanded.
		{map[string]string{"A": "${B:-1}", "B": "${A:-2}"}, "A", "A -> B -> A"},
	}
	for _, tt := range tests {
		s := NewScope(Layer{Name: "vars", Vars: tt.vars, Template: true}, Layer{Name: "env", Vars: map[string]string{"A": "envA"}})
		_, _, err := s.Lookup(tt.look)
		var c *CycleError
		if !errors.As(err, &c) {
			t.Errorf("%v: Lookup(%s) error = %v, want a cycle", tt.vars, tt.look, err)
			continue
		}
		if err.Error() != "variable cycle: "+tt.want {
			t.Errorf("%v: Lookup(%s) error = %q, want %q", tt.vars, tt.look, err, tt.want)
		}
		// The error is stable on a second lookup (memoised, not a stale stack).
		if _, _, err2 := s.Lookup(tt.look); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("second lookup: %v", err2)
		}
	}
	// Self-reference is not a cycle even through a default.
	s := NewScope(Layer{Name: "vars", Vars: map[string]string{"A": "${A:-${B}}", "B": "b"}, Template: true})
	if v, _, err := s.Lookup("A"); err != nil || v != "b" {
		t.Errorf("A = %q, %v", v, err)
	}
}

func TestScopeErrorsNameTheVariable(t *testing.T) {
	s := NewScope(Layer{Name: "vars", Template: true, Vars: map[string]string{
		"IMAGE": "${APP}:${TAG}", "APP": "shop", "TAG": "${MISSING}", "BAD": "${oops",
		"REQ": "${TOKEN:?set TOKEN}",
	}})
	_, _, err := s.Lookup("IMAGE")
	if err == nil || err.Error() != "IMAGE in vars: TAG in vars: undefined variable MISSING" {
		t.Errorf("IMAGE: %v", err)
	}
	var u *UndefinedError
	if !errors.As(err, &u) || u.Name != "MISSING" {
		t.Errorf("not an UndefinedError for MISSING: %v", err)
	}
	_, err = s.Expand("run ${IMAGE}")
	if !errors.As(err, &u) {
		t.Errorf("Expand: %v", err)
	}
	_, _, err = s.Lookup("BAD")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("BAD: %v", err)
	}
	_, _, err = s.Lookup("REQ")
	var re *RequiredError
	if !errors.As(err, &re) || re.Message != "set TOKEN" {
		t.Errorf("REQ: %v", err)
	}
}

func TestScopeUsedAndTrack(t *testing.T) {
	s := NewScope(
		Layer{Name: "vars", Template: true, Vars: map[string]string{"IMAGE": "${APP}:1", "APP": "shop", "UNUSED": "u"}},
		Layer{Name: "process environment", Vars: map[string]string{"HOME": "/root"}},
	)
	if _, err := s.Expand("${IMAGE} ${NOPE:-x} ${HOME}"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"IMAGE": "shop:1", "HOME": "/root"}
	if got := s.Used(); !reflect.DeepEqual(got, want) {
		t.Errorf("Used = %v, want %v", got, want)
	}
	tr := s.Track()
	if len(tr.Used()) != 0 {
		t.Errorf("Track starts with %v", tr.Used())
	}
	if v, _, _ := tr.Lookup("APP"); v != "shop" {
		t.Errorf("APP via Track = %q", v)
	}
	if got := tr.Used(); !reflect.DeepEqual(got, map[string]string{"APP": "shop"}) {
		t.Errorf("Track Used = %v", got)
	}
	if _, ok := s.Used()["APP"]; ok {
		t.Error("Track lookups leaked into the parent's Used")
	}
	// Used is a copy.
	u := s.Used()
	u["X"] = "y"
	if _, ok := s.Used()["X"]; ok {
		t.Error("Used returned the internal map")
	}
}

func TestScopeFuncLayer(t *testing.T) {
	var calls atomic.Int32
	s := NewScope(
		Layer{Name: "vars", Template: true, Vars: map[string]string{"V": "v-${LAZY}", "OVER": "vars"}},
		Layer{Name: "built-in", Vars: map[string]string{"FIXED": "f"}, Func: func(n string) (string, bool) {
			switch n {
			case "LAZY":
				calls.Add(1)
				return "lazy", true
			case "OVER", "FIXED":
				return "func", true
			}
			return "", false
		}},
	)
	for range 3 {
		if v, _, err := s.Lookup("V"); err != nil || v != "v-lazy" {
			t.Fatalf("V = %q, %v", v, err)
		}
	}
	if v, _, _ := s.Lookup("FIXED"); v != "f" {
		t.Errorf("FIXED = %q: Vars must come before Func", v)
	}
	if v, _, _ := s.Lookup("OVER"); v != "vars" {
		t.Errorf("OVER = %q", v)
	}
	if _, ok, _ := s.Lookup("NONE"); ok {
		t.Error("NONE found")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Func called %d times for LAZY, want 1 (memoised)", n)
	}
}

func TestScopeConcurrent(t *testing.T) {
	vars := map[string]string{}
	for i := range 50 {
		vars[fmt.Sprintf("V%d", i)] = fmt.Sprintf("${V%d}+%d", i+1, i)
	}
	vars["V50"] = "${BASE:-base}"
	var funcCalls atomic.Int32
	s := NewScope(
		Layer{Name: "vars", Vars: vars, Template: true},
		Layer{Name: "built-in", Func: func(n string) (string, bool) {
			if n == "BASE" {
				funcCalls.Add(1)
				return "root", true
			}
			return "", false
		}},
	)
	want, _, err := NewScope(Layer{Name: "vars", Vars: vars, Template: true}, Layer{Name: "b", Vars: map[string]string{"BASE": "root"}}).Lookup("V0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 32 {
		wg.Go(func() {
			tr := s.Track()
			for i := range 50 {
				name := fmt.Sprintf("V%d", (i+g)%50)
				if _, _, err := tr.Lookup(name); err != nil {
					errs <- err
					return
				}
			}
			got, err := tr.Expand("${V0}")
			if err != nil || got != want {
				errs <- fmt.Errorf("V0 = %q, %v; want %q", got, err, want)
			}
			_ = s.Used()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if funcCalls.Load() != 1 {
		t.Errorf("BASE computed %d times", funcCalls.Load())
	}
}
