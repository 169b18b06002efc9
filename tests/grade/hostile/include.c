/* Includes a file of the grader's at compile time, so that its text shows in the build log. */
#include "@SECRET@"
static void attack(void)
{
    say("include", "compiled with the grader's file in it");
}
