/*
 * Mutant: rotation reads the family and writes it in two steps, with neither a row lock nor a compare-and-set.
 * expect: p9
 */
#define MUTANT_SPLIT
#include "session.pml"
