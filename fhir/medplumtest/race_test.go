//go:build race

package medplumtest

// raceEnabled: build helper binaries with -race too, so they reuse the
// packages this test run already compiled.
const raceEnabled = true
