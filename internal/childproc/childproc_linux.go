package childproc

import "syscall"

// Attr puts a child process in its own process group (a Ctrl-C in the terminal
// does not reach it; changewatch stops it after shutting down what uses it) and has the
// kernel kill it if changewatch dies without cleaning up.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
