//go:build unix

package medplumtest

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on path, so that test binaries
// running at the same time do not run npm ci in the same directory together.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		// Closing the file releases the lock.
		f.Close()
	}, nil
}
