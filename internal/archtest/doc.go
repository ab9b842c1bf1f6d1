// Package archtest holds the tests of the module's house rules that the
// compiler cannot check: small functions and no package-level mutable
// state in non-test code.
package archtest
