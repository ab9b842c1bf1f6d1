package shell

import "syscall"

// shAttr puts a host command in its own process group and has the kernel
// kill its shell if dtask dies first.
func shAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
