package taskfile

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// fakeEnv stands in for vars.Scope: ${NAME} from a map, ${NAME:?msg} and
// $$ as the real one has them.
type fakeEnv struct {
	vars  map[string]string
	calls int
}

var refRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:\?([^}]*))?\}`)

func (e *fakeEnv) Expand(s string) (string, error) {
	e.calls++
	var err error
	out := refRe.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := refRe.FindStringSubmatch(m)
		if v, ok := e.vars[sub[1]]; ok {
			return v
		}
		if err == nil {
			if sub[2] != "" {
				err = fmt.Errorf("%s: %s", sub[1], sub[3])
			} else {
				err = fmt.Errorf("undefined variable %s", sub[1])
			}
		}
		return m
	})
	return out, err
}

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestResolve(t *testing.T) {
	f := mustParse(t, `version = 1
default = "${GOAL}"
[vars]
IMAGE = "${APP}:1"
[environments.prod]
HOST = "${PROD}"
[env]
TZ = "${TZ_NAME}"
[secrets]
PW = { env = "${PW_VAR}" }
[services.db]
image = "${DB_IMAGE}"
env = { "${KEY}" = "${VAL}" }
[targets.build]
build = { context = ".", tags = ["${APP}:a", "${APP}:b"], args = { V = "$$HOME" } }
[targets.test]
deps = ["build"]
services = ["db"]
run = { image = "${APP}", cmd = ["echo", "${MSG}"] }
when = { branch = ["${BRANCH}"] }
`)
	env := &fakeEnv{vars: map[string]string{
		"GOAL": "test", "APP": "shop", "TZ_NAME": "UTC", "PW_VAR": "REG_PW", "DB_IMAGE": "redis:7",
		"VAL": "v", "MSG": "hi", "BRANCH": "main", "KEY": "NO",
	}}
	r, err := Resolve(f, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"default":           {r.Default, "test"},
		"env.TZ":            {r.Env["TZ"], "UTC"},
		"secrets.PW.env":    {r.Secrets["PW"].Env, "REG_PW"},
		"services.db":       {r.Services["db"].Image, "redis:7"},
		"map value":         {r.Services["db"].Env["${KEY}"], "v"},
		"tags":              {strings.Join(r.Targets["build"].Build.Tags, ","), "shop:a,shop:b"},
		"$$":                {r.Targets["build"].Build.Args["V"], "$HOME"},
		"run.cmd":           {strings.Join(r.Targets["test"].Run.Cmd, " "), "echo hi"},
		"when.branch":       {r.Targets["test"].When.Branch[0], "main"},
		"vars stay":         {r.Vars["IMAGE"], "${APP}:1"},
		"environments stay": {r.Environments["prod"]["HOST"], "${PROD}"},
		"names":             {r.Targets["test"].Name + r.Services["db"].Name, "testdb"},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
	// The original is untouched: Resolve made a deep copy.
	if f.Targets["test"].Run.Cmd[1] != "${MSG}" || f.Services["db"].Env["${KEY}"] != "${VAL}" || f.Default != "${GOAL}" {
		t.Error("Resolve changed its input")
	}
	r.Targets["test"].Deps[0] = "changed"
	if f.Targets["test"].Deps[0] != "build" {
		t.Error("the copy shares slices or maps with the input")
	}
	// Positions are read-only after loading: the copy shares them.
	if r.Pos()["default"].Line != 2 || len(r.Pos()) != len(f.Pos()) {
		t.Error("Pos not carried over")
	}
}

func TestResolveErrors(t *testing.T) {
	f := mustParse(t, `version = 1
[targets.a]
sh = "echo ${NOPE}"
[targets.b]
run = { image = "x", cmd = ["echo", "${ALSO_NOPE}"], env = { K = "${REQ:?set REQ to the region}" } }
`)
	_, err := Resolve(f, &fakeEnv{vars: map[string]string{}})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T %v, want Errors", err, err)
	}
	want := `t.toml:3:1: targets.a.sh: undefined variable NOPE
t.toml:5:37: targets.b.run.cmd[1]: undefined variable ALSO_NOPE
t.toml:5:62: targets.b.run.env.K: REQ: set REQ to the region`
	if err.Error() != want {
		t.Errorf("errors:\n%s\nwant:\n%s", err, want)
	}
}

// Strings without a $ are not handed to the expander.
func TestResolveSkipsPlainStrings(t *testing.T) {
	f := mustParse(t, "version = 1\n[targets.a]\nsh = [\"a\", \"b\", \"$${X}\"]\ndesc = \"d\"\n")
	env := &fakeEnv{}
	r, err := Resolve(f, env)
	if err != nil {
		t.Fatal(err)
	}
	if env.calls != 1 || r.Targets["a"].Sh[2] != "${X}" {
		t.Errorf("calls %d, sh %q", env.calls, r.Targets["a"].Sh)
	}
}

// Every string field of the model is interpolated unless it is meant to stay
// literal, so a field added later is covered without touching Resolve.
func TestResolveCoversEveryField(t *testing.T) {
	f := &File{}
	fill(reflect.ValueOf(f).Elem())
	r, err := Resolve(f, &fakeEnv{vars: map[string]string{"X": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	walkStrings(reflect.ValueOf(r).Elem(), "File", false, func(path, s string, literal bool) {
		want := "x"
		if literal {
			want = "${X}"
		}
		if s != want {
			t.Errorf("%s = %q, want %q", path, s, want)
		}
	})
}

// fill sets every string in v to "${X}", with one element in each slice and map.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("${X}")
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
	}
}

func walkStrings(v reflect.Value, path string, literal bool, fn func(path, s string, literal bool)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String(), literal)
	case reflect.Pointer:
		walkStrings(v.Elem(), path, literal, fn)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			tag := strings.Split(sf.Tag.Get("toml"), ",")[0]
			lit := literal || tag == "-" || tag == "" || literalField(t.Name()+"."+sf.Name)
			walkStrings(v.Field(i), path+"."+sf.Name, lit, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), path+"[]", literal, fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkStrings(iter.Value(), path+"[k]", literal, fn)
		}
	}
}

// TestResolveFor: only the targets and services the goals use must
// resolve; the rest of the file still must.
func TestResolveFor(t *testing.T) {
	f := mustParse(t, `version = 1
[env]
TZ = "${TZ}"
[services.db]
image = "${DB_IMAGE}"
[services.other]
image = "${OTHER_IMAGE}"
[targets.test]
services = ["db"]
run = { image = "${IMAGE}" }
[targets.deploy]
deps = ["test"]
deploy = { host = "${DEPLOY_HOST}", image = "x", name = "x" }
`)
	env := &fakeEnv{vars: map[string]string{"TZ": "UTC", "IMAGE": "app", "DB_IMAGE": "db"}}
	out, err := ResolveFor(f, env, []string{"test"})
	if err != nil {
		t.Fatalf("test needs no DEPLOY_HOST nor OTHER_IMAGE: %v", err)
	}
	if out.Targets["test"].Run.Image != "app" || out.Services["db"].Image != "db" {
		t.Errorf("needed values not resolved: %+v", out.Targets["test"].Run)
	}
	if _, err := ResolveFor(f, env, []string{"deploy"}); err == nil || !strings.Contains(err.Error(), "DEPLOY_HOST") {
		t.Errorf("deploy needs DEPLOY_HOST: %v", err)
	}
	delete(env.vars, "TZ")
	if _, err := ResolveFor(f, env, nil); err == nil || !strings.Contains(err.Error(), "TZ") {
		t.Errorf("[env] is needed by every run: %v", err)
	}
}

// A target or service with nothing to interpolate is shared with the
// input; one with a "$" anywhere below it, however deep, is copied.
func TestResolveSharesPlainTargets(t *testing.T) {
	f := mustParse(t, `version = 1
[services.db]
image = "redis:7"
[services.web]
image = "web"
env = { A = "${V}" }
[targets.plain]
sh = "true"
sources = ["in/1"]
deps = ["deep"]
services = ["db"]
[targets.deep]
run = { image = "x", env = { K = "${V}" } }
[targets.listed]
sh = ["true", "echo ${V}"]
`)
	r, err := Resolve(f, &fakeEnv{vars: map[string]string{"V": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Targets["plain"] != f.Targets["plain"] || r.Services["db"] != f.Services["db"] {
		t.Error("a target or service with nothing to interpolate was copied")
	}
	for _, name := range []string{"deep", "listed"} {
		if r.Targets[name] == f.Targets[name] {
			t.Errorf("target %s was shared, yet has a value to interpolate", name)
		}
	}
	if r.Services["web"] == f.Services["web"] || r.Services["web"].Env["A"] != "v" {
		t.Error("service web was not interpolated")
	}
	if got := r.Targets["deep"].Run.Env["K"] + " " + r.Targets["listed"].Sh[1]; got != "v echo v" {
		t.Errorf("interpolated %q, want %q", got, "v echo v")
	}
}
