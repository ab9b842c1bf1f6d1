package registryauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/moby/moby/api/types/registry"
)

// Lookup returns the credentials for host the way the docker CLI finds
// them: a credHelpers entry for the registry, else the credsStore helper,
// else the "auths" table. No credentials is not an error (anonymous access).
func (c *Config) Lookup(ctx context.Context, host string) (registry.AuthConfig, error) {
	key := ServerKey(host)
	helper := c.CredHelpers[key]
	if helper == "" && key == IndexServer {
		helper = c.CredHelpers["docker.io"]
	}
	if helper == "" {
		helper = c.CredsStore
	}
	if helper == "" {
		return c.fromFile(key)
	}
	return helperGet(ctx, helper, key)
}

// helperGet runs `docker-credential-NAME get` with the server on stdin.
func helperGet(ctx context.Context, name, key string) (registry.AuthConfig, error) {
	ac := registry.AuthConfig{ServerAddress: key}
	cmd := exec.CommandContext(ctx, "docker-credential-"+name, "get")
	cmd.Stdin = strings.NewReader(key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		// The helper protocol reports a missing entry on stdout.
		msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
		if strings.Contains(strings.ToLower(msg), "credentials not found") {
			return ac, nil
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && msg != "" {
			err = errors.New(msg)
		}
		return ac, fmt.Errorf("credential helper docker-credential-%s: %w", name, err)
	}
	var out struct {
		ServerURL, Username, Secret string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return ac, fmt.Errorf("credential helper docker-credential-%s: bad output: %w", name, err)
	}
	if out.Username == "<token>" {
		ac.IdentityToken = out.Secret
	} else {
		ac.Username, ac.Password = out.Username, out.Secret
	}
	return ac, nil
}
