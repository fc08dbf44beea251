/*
 * Mutant: grace for any older generation inside the window, not only the previous one.
 * expect: p1p2
 */
#define MUTANT_GRACE_ANY
#include "session.pml"
