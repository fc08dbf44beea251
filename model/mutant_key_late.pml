/*
 * Mutant: the device-key check comes after the grace branch.
 * expect: dpop
 */
#define MUTANT_KEY_LATE
#include "session.pml"
