/*
 * Mutant: the SDK retries a lost answer after the grace window has closed.
 * expect: honest
 */
#define MUTANT_LATE_RETRY
#include "session.pml"
