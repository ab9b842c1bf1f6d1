//go:build !linux

package targets

import "syscall"

// shAttr puts a host command in its own process group (the parent-death
// signal is Linux only; the group watcher covers the rest).
func shAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
