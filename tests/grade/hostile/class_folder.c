/* Changes another student's hand-in in the class folder and plants a new submission there. */
static void attack(void)
{
    FILE *f = fopen("@CLASS@/@VICTIM@.c", "a");
    if (f) {
        fputs("\n#error sabotaged\n", f);
        fclose(f);
        say("class_folder", "appended to the victim's source");
    } else {
        say("class_folder", "cannot change the victim's source: %s", strerror(errno));
    }
    f = fopen("@CLASS@/planted-@TOKEN@.c", "w");
    if (f) {
        fputs("int main(void) { return 0; }\n", f);
        fclose(f);
        say("class_folder", "planted a submission");
    } else {
        say("class_folder", "cannot plant a submission: %s", strerror(errno));
    }
}
