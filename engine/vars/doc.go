// Package vars interpolates ${NAME} references, resolves them through the layered variable scope of SPEC §1, and provides the built-in GIT_*/CI variables read cheaply from .git and the CI provider's environment.
package vars
