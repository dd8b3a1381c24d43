//go:build race

package e2e

// raceEnabled builds the binary under test with -race when the tests run
// with -race, so a data race in the product fails the run (a race-enabled
// binary exits 66 after a report, and every test asserts exit code 0).
const raceEnabled = true
