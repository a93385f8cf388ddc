package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"

	"async-clinic/lessons/go/clinic"
	"async-clinic/lessons/go/clinic/clinictest"
)

// With this variable set, the test binary runs the twin on the fake clock
// and dies of its panic, as the program does.
const child = "CLINIC_13_FAKE_CLOCK"

// A panic that no recover() stops ends the test binary too, whoever started
// its goroutine. So the fake-clock run happens in a child process, this test
// binary again, and the test checks what it printed and how it ended.
func TestTranscript(t *testing.T) {
	if os.Getenv(child) == "1" {
		runtime.GOMAXPROCS(1)
		synctest.Test(t, func(*testing.T) {
			clinic.Start(os.Stdout)
			run()
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTranscript$")
	cmd.Env = append(os.Environ(), child+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("want the run to die with exit status 2, got %v; stderr:\n%s",
			err, stderr.String())
	}
	panicked := `panic: a pain score is a number: strconv.Atoi: parsing "severe"`
	if !strings.HasPrefix(stderr.String(), panicked) {
		t.Fatalf("stderr should begin %q; it is:\n%s", panicked, stderr.String())
	}
	want, err := os.ReadFile("../transcripts/13_panics.txt")
	if err != nil {
		t.Fatal(err)
	}
	if problem := clinictest.Difference(stdout.String(), string(want)); problem != "" {
		t.Error(problem)
	}
}
