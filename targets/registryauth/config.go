package registryauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
)

// IndexServer is the key Docker Hub credentials are stored under.
const IndexServer = "https://index.docker.io/v1/"

// Config is the part of a Docker config.json that holds credentials.
type Config struct {
	Auths       map[string]Entry  `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
	path        string
}

// Entry is one "auths" entry: base64 "user:password" in Auth, or the parts.
type Entry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// ConfigDir is $DOCKER_CONFIG, else ~/.docker.
func ConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// Load reads dir/config.json; a missing file is an empty config.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	c := &Config{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return c, nil
}

// Host returns the registry host of an image reference ("docker.io" for
// Docker Hub names such as "redis:7").
func Host(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	return reference.Domain(named), nil
}

// ServerKey is the key credentials for host are stored under, as the
// docker CLI computes it: Docker Hub's index URL, else the host[:port].
func ServerKey(host string) string {
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io", IndexServer:
		return IndexServer
	}
	return host
}

// hostname strips the scheme and path of a stored key, as the docker CLI
// does when it matches "https://host/v2/" against "host".
func hostname(key string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	h, _, _ := strings.Cut(s, "/")
	return h
}

// fromFile looks host up in the "auths" table.
func (c *Config) fromFile(key string) (registry.AuthConfig, error) {
	e, ok := c.Auths[key]
	if !ok {
		for k, v := range c.Auths {
			if hostname(k) == key || (key == IndexServer && ServerKey(hostname(k)) == IndexServer) {
				e, ok = v, true
				break
			}
		}
	}
	ac := registry.AuthConfig{ServerAddress: key}
	if !ok {
		return ac, nil
	}
	ac.Username, ac.Password = e.Username, e.Password
	ac.IdentityToken, ac.RegistryToken = e.IdentityToken, e.RegistryToken
	if e.Auth != "" {
		raw, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return ac, fmt.Errorf("%s: auths.%s.auth is not valid base64", c.path, key)
		}
		user, pass, found := strings.Cut(string(raw), ":")
		if !found {
			return ac, fmt.Errorf("%s: auths.%s.auth is not user:password", c.path, key)
		}
		ac.Username, ac.Password = user, pass
	}
	return ac, nil
}

// Encode makes the X-Registry-Auth header value. Empty credentials are
// encoded too: engines before API 1.42 refuse a push without the header.
func Encode(ac registry.AuthConfig) (string, error) {
	return authconfig.Encode(ac)
}
