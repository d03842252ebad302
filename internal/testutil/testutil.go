// Package testutil holds helpers shared by ipcwatch's tests.
package testutil

import (
	"os"
	"testing"
)

// RequirePrivileged skips a test that needs root, or fails it when
// IPCWATCH_REQUIRE_PRIVILEGED=1 (as CI sets) so it cannot pass by skipping.
func RequirePrivileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("IPCWATCH_REQUIRE_PRIVILEGED") == "1" {
		t.Fatal("this test needs root and IPCWATCH_REQUIRE_PRIVILEGED=1 forbids skipping it")
	}
	t.Skip("needs root")
}

// CountFDs returns how many file descriptors this process has open.
func CountFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("reading /proc/self/fd: %v", err)
	}
	return len(entries)
}
