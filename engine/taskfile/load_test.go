package taskfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parseErrs parses src as "t.toml" and returns the error lines.
func parseErrs(t *testing.T, src string) []string {
	t.Helper()
	f, err := Parse("t.toml", []byte(src))
	if err == nil {
		if f == nil {
			t.Fatal("Parse returned neither a file nor an error")
		}
		return nil
	}
	if f != nil {
		t.Error("Parse returned a file with errors")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	return strings.Split(err.Error(), "\n")
}

func TestParseErrors(t *testing.T) {
	const v = "version = 1\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"syntax keeps toml's position", v + "[targets.x]\nsh = \"echo\n",
			[]string{`t.toml:3:11: strings cannot contain newlines`}},
		{"syntax duplicate key", v + "version = 2\n",
			[]string{`t.toml:2:13: Key 'version' has already been defined.`}},
		{"unknown top-level key", v + "[tragets.x]\nsh = \"true\"\n",
			[]string{`t.toml:2:2: unknown key "tragets" (did you mean "targets"?)`}},
		{"unknown key in inline table", v + "[targets.test]\nrun = { imag = \"busybox\" }\n",
			[]string{`t.toml:3:9: unknown key "imag" in targets.test.run (did you mean "image"?)`}},
		{"unknown key, case differs", v + "[services.db]\nImage = \"redis:7\"\n",
			[]string{`t.toml:3:1: unknown key "Image" in services.db (did you mean "image"?)`}},
		{"unknown key deep, no suggestion", v + "[services.db]\nimage = \"r\"\nready = { tcp = 1, zzzzzz = 2 }\n",
			[]string{`t.toml:4:20: unknown key "zzzzzz" in services.db.ready`}},
		{"unknown key in a sub-table header", v + "[targets.x.bogus]\na = 1\n[targets.x.bogus.deeper]\n",
			[]string{`t.toml:2:12: unknown key "bogus" in targets.x`}},
		{"two actions", v + "[targets.x]\nsh = \"echo hi\"\nbuild = { context = \".\" }\n",
			[]string{`t.toml:4:1: target "x" has both sh and build; a target has at most one action`}},
		{"two actions in written order", v + "[targets.x]\nrun = { image = \"i\" }\nsh = \"echo\"\n",
			[]string{`t.toml:4:1: target "x" has both run and sh; a target has at most one action`}},
		{"three actions", v + "[targets.x]\nsh = \"a\"\npush = { image = \"i\", tags = [\"t\"] }\nrun = { image = \"i\" }\n",
			[]string{`t.toml:4:1: target "x" has sh, push and run; a target has at most one action`}},
		{"unknown dep", v + "[targets.image]\nbuild = {}\n[targets.test]\ndeps = [\"image\", \"imgae\"]\n",
			[]string{`t.toml:5:18: target "test" depends on unknown target "imgae" (did you mean "image"?)`}},
		{"unknown dep, nothing close", v + "[targets.test]\ndeps = [\"zzz\"]\n",
			[]string{`t.toml:3:9: target "test" depends on unknown target "zzz"`}},
		{"unknown service", v + "[services.db]\nimage = \"m\"\n[targets.t]\nsh = \"true\"\nservices = [\"dbb\"]\n",
			[]string{`t.toml:6:13: target "t" uses unknown service "dbb" (did you mean "db"?)`}},
		{"services where nothing starts them", v + "[services.db]\nimage = \"m\"\n[targets.t]\nbuild = {}\nservices = [\"db\"]\n",
			[]string{`t.toml:6:1: target "t": services are started for run and sh targets only, not for a build target; list them on the targets that use them`}},
		{"fresh_services alone", v + "[targets.t]\nsh = \"true\"\nfresh_services = true\n",
			[]string{`t.toml:4:1: target "t": fresh_services without services`}},
		{"relative cache path", v + "[targets.t]\nrun = { image = \"i\", caches = [\"/ok\", \"go-build\"] }\n",
			[]string{`t.toml:3:39: targets.t.run.caches: "go-build" must be an absolute path in the container`}},
		{"cycle", v + "[targets.b]\ndeps = [\"c\"]\n[targets.a]\ndeps = [\"b\"]\n[targets.c]\ndeps = [\"a\"]\n",
			[]string{`t.toml:5:9: dependency cycle: a -> b -> c -> a`}},
		{"self cycle", v + "[targets.a]\ndeps = [\"x\", \"a\"]\n[targets.x]\n",
			[]string{`t.toml:3:14: dependency cycle: a -> a`}},
		{"two cycles", v + "[targets.a]\ndeps = [\"b\"]\n[targets.b]\ndeps = [\"a\", \"c\"]\n[targets.c]\ndeps = [\"d\"]\n[targets.d]\ndeps = [\"c\"]\n",
			[]string{`t.toml:3:9: dependency cycle: a -> b -> a`, `t.toml:7:9: dependency cycle: c -> d -> c`}},
		{"duration without unit", v + "[services.db]\nimage = \"r\"\nready = { tcp = 1, timeout = \"60\" }\n",
			[]string{`t.toml:4:20: bad duration "60" in services.db.ready.timeout: missing unit (write e.g. "90s", "1m30s" or "500ms")`}},
		{"duration unknown unit", v + "[targets.x]\ntimeout = \"5 minutes\"\n",
			[]string{`t.toml:3:1: bad duration "5 minutes" in targets.x.timeout: unknown unit (write e.g. "90s", "1m30s" or "500ms")`}},
		{"duration as integer", v + "[targets.x]\ntimeout = 60\n",
			[]string{`t.toml:3:1: bad duration 60 in targets.x.timeout: write it as a string with a unit, e.g. "60s"`}},
		{"duration negative", v + "[targets.x]\ntimeout = \"-1s\"\n",
			[]string{`t.toml:3:1: bad duration "-1s" in targets.x.timeout: must not be negative`}},
		{"duration garbage", v + "[targets.x]\ntimeout = \"soon\"\n",
			[]string{`t.toml:3:1: bad duration "soon" in targets.x.timeout: not a duration (write e.g. "90s", "1m30s" or "500ms")`}},
		{"duration as table", v + "[targets.x]\ntimeout = { s = 1 }\n",
			[]string{`t.toml:3:1: targets.x.timeout must be a duration such as "60s", not a table`}},
		{"version missing", "[targets.x]\nsh = \"true\"\n",
			[]string{`t.toml:1:1: version is required; add version = 1 at the top`}},
		{"version newer", "\nversion = 2\n",
			[]string{`t.toml:2:1: task file version 2 is newer than this dtask supports (1)`}},
		{"version zero", "version = 0\n",
			[]string{`t.toml:1:1: task file version 0 is not supported (this dtask supports 1)`}},
		{"version as string", "version = \"1\"\n",
			[]string{`t.toml:1:1: version must be an integer, not a string`}},
		{"default unknown", v + "default = \"tset\"\n[targets.test]\n",
			[]string{`t.toml:2:1: default target "tset" is not defined (did you mean "test"?)`}},
		{"service without image or build", v + "[services.db]\nready = { tcp = 1 }\n",
			[]string{`t.toml:2:11: service "db" has neither image nor build`}},
		{"service with image and build", v + "[targets.img]\nbuild = {}\n[services.app]\nimage = \"a\"\nbuild = \"img\"\n",
			[]string{`t.toml:6:1: service "app" has both image and build; give one`}},
		{"service build names a non-build target", v + "[targets.image]\nbuild = {}\n[targets.lint]\nsh = \"x\"\n[services.app]\nbuild = \"lint\"\n",
			[]string{`t.toml:7:1: service "app": build = "lint" does not name a build target`}},
		{"service build misspelt", v + "[targets.image]\nbuild = {}\n[services.app]\nbuild = \"imgae\"\n",
			[]string{`t.toml:5:1: service "app": build = "imgae" does not name a build target (did you mean "image"?)`}},
		{"when.branch as a string", v + "[targets.p]\nwhen = { branch = \"main\" }\n",
			[]string{`t.toml:3:10: targets.p.when.branch must be a list of strings, not a string`}},
		{"when.env item not a string", v + "[targets.p]\nwhen.env = [\"a\", 2]\n",
			[]string{`t.toml:3:18: targets.p.when.env[1] must be a string, not an integer`}},
		{"env value not a string", v + "[targets.p]\nenv = { A = \"1\", PORT = 5432 }\n",
			[]string{`t.toml:3:18: targets.p.env.PORT must be a string, not an integer`}},
		{"sh item not a string", v + "[targets.p]\nsh = [\"a\", true]\n",
			[]string{`t.toml:3:12: targets.p.sh[1] must be a string, not a boolean`}},
		{"sh a table", v + "[targets.p]\nsh = { a = 1 }\n",
			[]string{`t.toml:3:1: targets.p.sh must be a string or a list of strings, not a table`}},
		{"env not a table", v + "[targets.p]\nenv = \"A=1\"\n",
			[]string{`t.toml:3:1: targets.p.env must be a table of strings, not a string`}},
		{"target not a table", v + "targets.p = \"echo\"\n",
			[]string{`t.toml:2:9: targets.p must be a table, not a string`}},
		{"environments not tables of strings", v + "[environments.prod]\nN = 1\n",
			[]string{`t.toml:3:1: environments.prod.N must be a string, not an integer`}},
		{"secret with env and file", v + "[secrets]\nP = { env = \"P\", file = \"p\" }\n",
			[]string{`t.toml:3:1: secret "P" has both env and file; give exactly one`}},
		{"secret with neither", v + "[secrets.P]\n",
			[]string{`t.toml:2:10: secret "P" needs env or file (e.g. { env = "P" })`}},
		{"build secret unknown", v + "[secrets]\nTOKEN = { env = \"T\" }\n[targets.i]\nbuild = { secrets = [\"TOKN\"] }\n",
			[]string{`t.toml:5:22: target "i": build secret "TOKN" is not in [secrets] (did you mean "TOKEN"?)`}},
		{"push password unknown", v + "[targets.p]\npush = { image = \"i\", password = \"PW\", tags = [\"t\"] }\n",
			[]string{`t.toml:3:23: target "p": push password "PW" is not in [secrets]`}},
		{"push without tags", v + "[targets.p]\npush = { image = \"i\" }\n",
			[]string{`t.toml:3:1: target "p": push needs tags (tags = ["registry/name:tag"])`}},
		{"absolute sources", v + "[targets.s]\nsh = \"x\"\nsources = [\"a\", \"/etc/passwd\"]\n",
			[]string{`t.toml:4:17: sources pattern "/etc/passwd": must be relative to the target's folder`}},
		{"bad branch glob", v + "[targets.s]\nsh = \"x\"\nwhen = { branch = [\"[x\"] }\n",
			[]string{`t.toml:4:20: bad branch pattern "[x" in targets.s.when.branch`}},
		{"ready without probe", v + "[services.db]\nimage = \"i\"\nready = { timeout = \"5s\" }\n",
			[]string{`t.toml:4:1: services.db.ready needs one of cmd, tcp or http`}},
		{"ready with two probes", v + "[services.db]\nimage = \"i\"\nready = { cmd = \"x\", tcp = 1 }\n",
			[]string{`t.toml:4:22: services.db.ready has cmd and tcp; give one of cmd, tcp or http`}},
		{"ready port out of range", v + "[services.db]\nimage = \"i\"\nready = { tcp = 70000 }\n",
			[]string{`t.toml:4:11: services.db.ready.tcp must be a port between 1 and 65535, not 70000`}},
		{"run without image", v + "[targets.t]\nrun = { cmd = \"x\" }\n",
			[]string{`t.toml:3:1: target "t": run needs an image`}},
		{"deploy without name", v + "[targets.d]\ndeploy = { image = \"i\" }\n",
			[]string{`t.toml:3:1: target "d": deploy needs a container name (name = "...")`}},
		{"bad builder", v + "[targets.i]\nbuild = { builder = \"kaniko\" }\n",
			[]string{`t.toml:3:11: targets.i.build.builder must be "buildkit" or "classic", not "kaniko"`}},
		{"quoted target names in messages", v + "[targets.\"a.b\"]\ndeps = [\"c\"]\n",
			[]string{`t.toml:3:9: target "a.b" depends on unknown target "c"`}},
		{"target names the command line cannot name", v + "[targets.\"\"]\nsh = \"a\"\n[targets.\"X=1\"]\nsh = \"b\"\n",
			[]string{
				`t.toml:2:10: a target name must not be empty`,
				`t.toml:4:10: target name "X=1" cannot be named on the command line (a name with "=" is read as a variable)`,
			}},
		{"all errors at once, in file order", "default = \"x\"\n[targets.a]\nsh = 1\ndeps = [\"b\"]\n[targets.b]\ndeps = [\"a\"]\ntimeout = \"1\"\nfoo = 1\n",
			[]string{
				`t.toml:1:1: default target "x" is not defined`,
				`t.toml:1:1: version is required; add version = 1 at the top`,
				`t.toml:3:1: targets.a.sh must be a string or a list of strings, not an integer`,
				`t.toml:4:9: dependency cycle: a -> b -> a`,
				`t.toml:7:1: bad duration "1" in targets.b.timeout: missing unit (write e.g. "90s", "1m30s" or "500ms")`,
				`t.toml:8:1: unknown key "foo" in targets.b`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrs(t, tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Cycles come out the same however often the file is read (maps are
// iterated in random order).
func TestCycleTextIsStable(t *testing.T) {
	src := "version = 1\n"
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		next := map[string]string{"a": "b", "b": "c", "c": "d", "d": "e", "e": "c"}[n]
		src += "[targets." + n + "]\ndeps = [\"" + next + "\", \"a\"]\n"
	}
	first := strings.Join(parseErrs(t, src), "\n")
	if !strings.Contains(first, "dependency cycle:") {
		t.Fatalf("no cycle reported: %s", first)
	}
	for range 30 {
		if got := strings.Join(parseErrs(t, src), "\n"); got != first {
			t.Fatalf("errors differ between runs:\n%s\n---\n%s", first, got)
		}
	}
}

func TestParseSpecExample(t *testing.T) {
	f, err := Load("testdata/spec-example.toml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/spec-example.toml")
	if f.Path != abs || f.Dir != filepath.Dir(abs) {
		t.Errorf("Path %q Dir %q, want %q", f.Path, f.Dir, abs)
	}
	if f.Version != 1 || f.Default != "test" {
		t.Errorf("version %d default %q", f.Version, f.Default)
	}
	if got := strings.Join(f.VarOrder, ","); got != "APP,REGISTRY,IMAGE" {
		t.Errorf("VarOrder %s", got)
	}
	if f.Targets["test"].Name != "test" || f.Services["db"].Name != "db" {
		t.Error("names not filled in")
	}
	if got := f.Services["db"].Ready.Timeout.Duration; got != 60*time.Second {
		t.Errorf("db ready timeout %v", got)
	}
	if got := f.Targets["lint"].Sh; len(got) != 1 || got[0] != "npm run lint" {
		t.Errorf("lint sh %q", got)
	}
	if got := f.Targets["test"].Run.Cmd; strings.Join(got, " ") != "npm test" {
		t.Errorf("test cmd %q", got)
	}
	if got := f.Targets["image"].Build.Args["NODE_ENV"]; got != "testing" {
		t.Errorf("build args %q", got)
	}
	if got := f.Targets["publish"].When.Branch; strings.Join(got, ",") != "main,master" {
		t.Errorf("when.branch %q", got)
	}
	if got := f.Secrets["REGISTRY_PASSWORD"].Env; got != "REGISTRY_PASSWORD" {
		t.Errorf("secret %q", got)
	}
	if got := f.Environments["staging"]["NODE_ENV"]; got != "staging" {
		t.Errorf("environments %q", got)
	}
	for key, want := range map[string]Position{
		"targets.test":                      {Line: 35, Col: 10},
		"targets.test.run.image":            {Line: 39, Col: 14},
		"services.db.ready.timeout":         {Line: 22, Col: 54},
		"targets.deploy.deploy.name":        {Line: 53, Col: 12},
		"targets.image.build.args.NODE_ENV": {Line: 33, Col: 20},
	} {
		if got := f.Pos()[key]; got != want {
			t.Errorf("Pos[%s] = %v, want %v", key, got, want)
		}
	}
	for _, k := range []string{"test", "lint", "deploy", "ci"} {
		if f.Targets[k].ActionKind() != map[string]string{"test": "run", "lint": "sh", "deploy": "deploy", "ci": "group"}[k] {
			t.Errorf("%s kind %s", k, f.Targets[k].ActionKind())
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.toml"))
	var es Errors
	if !errors.As(err, &es) || !strings.Contains(err.Error(), "missing.toml: cannot read task file: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error does not wrap os.ErrNotExist: %v", err)
	}
	var coder interface{ ExitCode() int }
	if !errors.As(err, &coder) || coder.ExitCode() != 2 {
		t.Errorf("no exit code 2 in %v", err)
	}
	// A file inside the working folder is named relative to it.
	_, err = Load(mustAbs(t, "testdata/cycle.toml"))
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/cycle.toml:4:9: ") {
		t.Errorf("error not relative to the working folder: %v", err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    *Error
		want string
	}{
		{&Error{File: "f.toml", Line: 3, Col: 7, Msg: "m"}, "f.toml:3:7: m"},
		{&Error{File: "f.toml", Line: 3, Msg: "m"}, "f.toml:3: m"},
		{&Error{File: "f.toml", Msg: "m"}, "f.toml: m"},
		{&Error{Msg: "m"}, "m"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	var err error = Errors{{File: "a", Line: 1, Col: 2, Msg: "x"}, {File: "a", Line: 3, Col: 4, Msg: "y"}}
	if got := err.Error(); got != "a:1:2: x\na:3:4: y" {
		t.Errorf("Errors: %q", got)
	}
	var one *Error
	if !errors.As(err, &one) || one.Msg != "x" {
		t.Errorf("errors.As *Error: %v", one)
	}
}
