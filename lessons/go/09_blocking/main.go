// Lesson 09 in Go: a blocking call stalls nobody else.
//
// The twin of lessons/src/bin/09_blocking.rs, where Go and Rust part ways
// most. Go preempts a goroutine that computes for long (main_test.go shows
// it), and time.Sleep parks only the goroutine: P-002's deadline fires on
// time, and Go needs no spawn_blocking. Lesson 04's query is given up on at
// 2 s, and calls blocked in the kernel take no thread out of service.
//
// Run: go run ./lessons/go/09_blocking      (go test ./lessons/go/09_blocking: fake clock)
package main

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"async-clinic/lessons/go/clinic"
)

func main() {
	clinic.Main(run)
}

func run() {
	opening := time.Now()
	clinic.Say("-- P-001's report is de-identified inside its goroutine")
	morning(false)
	time.Sleep(time.Until(opening.Add(clinic.Ms(3_500))))
	clinic.Say("-- the same, with the de-identification in a goroutine of its own")
	morning(true)
	time.Sleep(time.Until(opening.Add(clinic.Ms(7_000))))
	clinic.Say("-- lesson 04's query, waiting with time.Sleep under a 2 s timeout")
	blockingQueryUnderTimeout()
	time.Sleep(time.Until(opening.Add(clinic.Ms(12_500))))
	clinic.Say("-- GOMAXPROCS(2): two threads run Go code")
	twoThreads()
}

// ANCHOR: morning
// morning: P-002 waits 2 s at most while P-001's report is de-identified.
func morning(ownGoroutine bool) {
	asked, answered := make(chan struct{}), make(chan struct{})
	go func() {
		answerWithin2s("P-002", asked)
		close(answered)
	}()
	<-asked
	clinic.Say("handler P-001: de-identifying the report, 3 s of CPU work")
	masked := make(chan string, 1)
	if ownGoroutine {
		go func() { masked <- deidentify("P-001") }()
	} else {
		masked <- deidentify("P-001")
	}
	clinic.Say("handler P-001: %s", <-masked)
	<-answered
}

// deidentify masks identifiers for 3 s, parked (CPU work would be preempted).
func deidentify(patient string) string {
	time.Sleep(3 * time.Second)
	return patient + "'s report de-identified"
}

// ANCHOR_END: morning

// ANCHOR: deadline
func answerWithin2s(patient string, asked chan<- struct{}) {
	clinic.Say("handler %s: asked the lab, the patient gets an answer within 2 s",
		patient)
	close(asked)
	began := time.Now()
	select {
	case <-time.After(5 * time.Second): // the lab
	case <-time.After(2 * time.Second): // the deadline
	}
	late := clinic.HalfSeconds(time.Since(began) - 2*time.Second)
	clinic.Say("handler %s: gave up at the 2 s deadline, %.1f s late",
		patient, late)
}

// ANCHOR_END: deadline

// ANCHOR: blocking_query
// blockingQuery is lesson 04's slow query, waiting with a plain time.Sleep.
func blockingQuery(patient string) string {
	time.Sleep(5 * time.Second)
	return patient + "'s 12 past reports"
}

func blockingQueryUnderTimeout() {
	asked := time.Now()
	// Room for the answer, so the query's goroutine ends when it is done.
	reply := make(chan string, 1)
	go func() { reply <- blockingQuery("P-003") }()
	fired := false
	select {
	case <-reply:
	case <-time.After(2 * time.Second):
		fired = true
	}
	took := clinic.HalfSeconds(time.Since(asked))
	clinic.Say("handler P-003: answered after %.1f s; the timeout fired: %t",
		took, fired)
}

// ANCHOR_END: blocking_query

// ANCHOR: two_workers
// twoThreads: P-004 and P-005 wait in a synchronous driver, a read that blocks
// its thread in the kernel; the runtime gives that thread's turn to another.
func twoThreads() {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	database, answers, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	defer database.Close()
	fd := int(database.Fd()) // Fd makes it blocking: reads wait in the kernel
	var returned atomic.Int32
	var calls sync.WaitGroup
	for range 2 { // P-004's call, then P-005's
		calling := make(chan struct{})
		calls.Go(func() {
			close(calling)
			syscall.Read(fd, make([]byte, 1))
			returned.Add(1)
		})
		<-calling
	}
	ran := 0
	for range 20 {
		report := make(chan int)
		go func() { report <- 1 }()
		ran += <-report
	}
	clinic.Say("P-004's and P-005's calls block a thread each; "+
		"of 20 reports since, %d ran", ran)
	p006 := make(chan bool)
	go func() { p006 <- returned.Load() == 0 }()
	clinic.Say("P-006 ran while both calls were blocked: %t", <-p006)
	answers.Write([]byte("ok")) // the database answers both
	answers.Close()
	calls.Wait()
}

// ANCHOR_END: two_workers
