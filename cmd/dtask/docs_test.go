package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGeneratedDocsFresh: docs/cli.md and docs/taskfile.schema.json are
// what the flags and the task file model make now.
func TestGeneratedDocsFresh(t *testing.T) {
	for file, gen := range map[string]func(w *bytes.Buffer) error{
		"docs/cli.md":               func(w *bytes.Buffer) error { return printCLIDocs(w) },
		"docs/taskfile.schema.json": func(w *bytes.Buffer) error { return printSchema(w) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			t.Fatal(err)
		}
		if repoFile(t, file) != b.String() {
			t.Errorf("%s is stale: run `go generate ./cmd/dtask` (or dtask --schema > %s)", file, file)
		}
	}
}

// TestDocsCoverEveryKeyAndFlag: every key of the task file model is in
// docs/taskfile.md as `its.dotted.path`, and every flag in docs/cli.md.
func TestDocsCoverEveryKeyAndFlag(t *testing.T) {
	ref := repoFile(t, "docs/taskfile.md")
	for _, k := range taskfile.Keys() {
		if !strings.Contains(ref, "`"+k+"`") {
			t.Errorf("docs/taskfile.md does not document `%s`", k)
		}
	}
	cli := repoFile(t, "docs/cli.md")
	for _, f := range flags() {
		if !strings.Contains(cli, "`--"+f.Name) {
			t.Errorf("docs/cli.md does not document --%s", f.Name)
		}
	}
}

// TestReadmeCoversFlagsAndKeys: the README's summary names every flag,
// every top-level key and every key of a target and of its action tables
// (the full reference is docs/taskfile.md and docs/cli.md, checked above).
func TestReadmeCoversFlagsAndKeys(t *testing.T) {
	readme := repoFile(t, "README.md")
	for _, f := range flags() {
		if !strings.Contains(readme, "--"+f.Name) {
			t.Errorf("README.md does not name --%s", f.Name)
		}
	}
	for _, k := range taskfile.Keys() {
		parts := strings.Split(k, ".")
		switch {
		case len(parts) == 1, len(parts) == 2 && parts[0] == "cache",
			len(parts) == 3 && parts[0] == "targets",
			len(parts) == 4 && parts[0] == "targets" && !strings.Contains(k, ".when."):
		default:
			continue
		}
		last := parts[len(parts)-1]
		if !strings.Contains(readme, "`"+last+"`") && !strings.Contains(readme, "`["+last) { // `[vars]`

			t.Errorf("README.md does not name `%s` (%s)", last, k)
		}
	}
}

// TestSchemaValidates: the schema accepts the example pipeline and
// rejects a misspelled key.
func TestSchemaValidates(t *testing.T) {
	c := jsonschema.NewCompiler()
	var doc any
	if err := json.Unmarshal([]byte(repoFile(t, "docs/taskfile.schema.json")), &doc); err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("taskfile.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("taskfile.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	example := repoFile(t, "Taskfile.example.toml")
	if err := sch.Validate(tomlValue(t, example)); err != nil {
		t.Errorf("the schema rejects Taskfile.example.toml: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(example, "deps ", "dependencies ", 1),
		"version = 1\n[targets.a]\nsh = \"true\"\nsourcse = [\"x\"]\n",
		"version = 1\n[targets.a]\ntimeout = 30\n",
		"default = \"a\"\n",
	} {
		if err := sch.Validate(tomlValue(t, bad)); err == nil {
			t.Errorf("the schema accepts:\n%s", bad)
		}
	}
}

// tomlValue decodes TOML into the plain values a JSON document has.
func tomlValue(t *testing.T, src string) any {
	t.Helper()
	var v map[string]any
	if _, err := toml.Decode(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
