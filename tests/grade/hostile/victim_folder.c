/* Writes into another student's report folder and replaces the class summary. */
static void attack(void)
{
    const char *targets[] = {"@GRADES@/@VICTIM@/planted-@TOKEN@.txt", "@GRADES@/summary.json"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(targets[i], "w");
        if (f) {
            fputs("planted\n", f);
            fclose(f);
            say("victim_folder", "wrote %s", targets[i]);
        } else {
            say("victim_folder", "cannot write %s: %s", targets[i], strerror(errno));
        }
    }
}
