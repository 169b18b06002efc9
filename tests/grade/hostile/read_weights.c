/* Reads the instructor's weights file and prints it. */
static void attack(void)
{
    show("read_weights", "@WEIGHTS@");
}
