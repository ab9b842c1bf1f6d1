package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSSHArgs(t *testing.T) {
	for host, want := range map[string]string{
		"ssh://deploy@staging.internal": "-o ConnectTimeout=30 -T -- deploy@staging.internal docker system dial-stdio",
		"ssh://root@127.0.0.1:2222":     "-o ConnectTimeout=30 -T -p 2222 -- root@127.0.0.1 docker system dial-stdio",
		"ssh://example.com":             "-o ConnectTimeout=30 -T -- example.com docker system dial-stdio",
		"ssh://u@[2001:db8::1]:22":      "-o ConnectTimeout=30 -T -p 22 -- u@2001:db8::1 docker system dial-stdio",
	} {
		got, err := sshArgs(host)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("sshArgs(%q) = %q %v, want %q", host, got, err, want)
		}
	}
	for _, bad := range []string{"ssh://", "ssh://host/path", "ssh://host?x=1"} {
		if _, err := sshArgs(bad); err == nil {
			t.Errorf("sshArgs(%q) accepted", bad)
		}
	}
}

// TestConnectHostSSHReportsSSHErrors: when ssh fails, the error says what
// ssh printed and which host was tried, and is an UnreachableError (exit 3).
func TestConnectHostSSHReportsSSHErrors(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\necho 'Permission denied (publickey).' >&2\nexit 255\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	_, err := ConnectHost(context.Background(), "ssh://deploy@staging.internal")
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Host != "ssh://deploy@staging.internal" {
		t.Fatalf("err = %v, want an UnreachableError naming the ssh host", err)
	}
	if !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("err = %v, want ssh's message", err)
	}
}
