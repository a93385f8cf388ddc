package main

import (
	"testing"

	"async-clinic/lessons/go/clinic/clinictest"
)

// On the fake clock the process does not exit at the end of run, so the two
// queries and the audit writer are still there, blocked for good.
func TestTranscript(t *testing.T) {
	clinictest.Transcript(t, run, clinictest.LeftBlocked(3))
}
