/*
 * Mutant: the server's grace branch is gone, so a lost answer's retry or a racing tab is taken for theft.
 * expect: honest
 */
#define MUTANT_NO_GRACE
#include "session.pml"
