// Package regularfile reads the files a task file names (the task file,
// compose and env files, Dockerfiles, secrets) without letting one hang
// dtask (a FIFO) or fill its memory (a device such as /dev/zero).
package regularfile
