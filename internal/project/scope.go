package project

import (
	"os"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/engine/vars"
)

// newScope layers variables as docs/taskfile.md orders them: command line, the
// chosen environment, [vars], built-ins, process environment.
func newScope(f *taskfile.File, cmdVars map[string]string, envName string) *vars.Scope {
	return vars.NewScope(scopeLayers(f, cmdVars, envName)...)
}

func scopeLayers(f *taskfile.File, cmdVars map[string]string, envName string) []vars.Layer {
	layers := []vars.Layer{{Name: "command line", Vars: cmdVars, Template: true}}
	if envName != "" {
		layers = append(layers, vars.Layer{Name: "environment " + envName, Vars: f.Environments[envName], Template: true})
	}
	layers = append(layers,
		vars.Layer{Name: "vars", Vars: f.Vars, Template: true},
		vars.Builtins(f.Dir, os.Getenv, envName, f.Dir),
		vars.Layer{Name: "process environment", Func: os.LookupEnv},
	)
	return layers
}

// secretScope expands ${NAME} with [secrets] names too where a secret
// may go (the env of targets and services), and without them elsewhere.
type secretScope struct {
	*vars.Scope
	secrets *vars.Scope
}

// ExpandSecret expands v where a secret may go.
func (s secretScope) ExpandSecret(v string) (string, error) { return s.secrets.Expand(v) }

// newSecretScope is newScope with the [secrets] values first: in an env
// value, ${NAME} of a secret is the secret.
func newSecretScope(f *taskfile.File, cmdVars map[string]string, envName string) *vars.Scope {
	secrets := vars.Layer{Name: "secrets", Func: func(name string) (string, bool) {
		if _, ok := f.Secrets[name]; !ok {
			return "", false
		}
		v, err := readSecret(f, name)
		return v, err == nil
	}}
	return vars.NewScope(append([]vars.Layer{secrets}, scopeLayers(f, cmdVars, envName)...)...)
}
