/*
 * Mutant: the cross-tab lock does not exclude: two tabs read and present tokens side by side.
 * expect: honest
 */
#define MUTANT_LOCK_SHARED
#include "session.pml"
