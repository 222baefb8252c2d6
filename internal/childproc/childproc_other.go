//go:build !unix

package childproc

import "syscall"

// Attr: no process-group or parent-death settings on this system.
func Attr() *syscall.SysProcAttr { return nil }
