/*
 * Mutant: grace for the previous generation without the time check.
 * expect: p3
 */
#define MUTANT_GRACE_FOREVER
#include "session.pml"
