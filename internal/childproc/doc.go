// Package childproc sets up the child processes changewatch starts (the demo's redis-server,
// the bench's steps) so that they stop with it.
package childproc
