package taskfile

import (
	"strings"
	"testing"
)

// secretEnv expands [secrets] names only through ExpandSecret.
type secretEnv struct {
	plain, withSecrets *fakeEnv
}

func (s secretEnv) Expand(v string) (string, error)       { return s.plain.Expand(v) }
func (s secretEnv) ExpandSecret(v string) (string, error) { return s.withSecrets.Expand(v) }

func TestSecretsOnlyInEnv(t *testing.T) {
	src := `version = 1
[secrets]
TOKEN = { env = "T" }
[services.db]
image = "m"
env = { PASSWORD = "${TOKEN}" }
[targets.t]
env = { A = "${TOKEN}" }
run = { image = "i", env = { B = "${TOKEN}" } }
[targets.d]
deploy = { image = "i", name = "n", env = { C = "${TOKEN}" } }
`
	f, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	env := secretEnv{&fakeEnv{vars: map[string]string{}}, &fakeEnv{vars: map[string]string{"TOKEN": "s3"}}}
	r, err := Resolve(f, env)
	if err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string]string{
		"services.db.env": r.Services["db"].Env["PASSWORD"], "targets.t.env": r.Targets["t"].Env["A"],
		"run.env": r.Targets["t"].Run.Env["B"], "deploy.env": r.Targets["d"].Deploy.Env["C"],
	} {
		if got != "s3" {
			t.Errorf("%s = %q, want the secret", what, got)
		}
	}
	// Anywhere else the name is not a variable: it cannot reach an image.
	f, err = Parse("t.toml", []byte("version = 1\n[secrets]\nTOKEN = { env = \"T\" }\n[targets.b]\nbuild = { args = { X = \"${TOKEN}\" } }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(f, env); err == nil || !strings.Contains(err.Error(), "t.toml:5:") || !strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("secret in build.args: err = %v", err)
	}
}
