// The Go twins of the lessons: one program per lesson, standard library only.
// Go 1.25 or newer: the tests run each twin on testing/synctest's fake clock.
module async-clinic/lessons/go

go 1.25
