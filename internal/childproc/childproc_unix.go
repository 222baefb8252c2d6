//go:build unix && !linux

package childproc

import "syscall"

// Attr puts a child process in its own process group (a Ctrl-C in the terminal
// does not reach it; changewatch stops it after shutting down what uses it).
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
