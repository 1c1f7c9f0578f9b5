//go:build !race

package medplumtest

const raceEnabled = false
