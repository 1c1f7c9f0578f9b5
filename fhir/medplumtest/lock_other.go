//go:build !unix

package medplumtest

// lockDir is a no-op where flock is missing; installs are then serialized
// within one test binary only.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
