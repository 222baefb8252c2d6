//go:build !unix

package main

import "syscall"

// childProcAttr: no process-group or parent-death settings on this system.
func childProcAttr() *syscall.SysProcAttr { return nil }
