/* Forges another student's Gradescope report and makes a report folder of its own in the grades. */
static void attack(void)
{
    FILE *f = fopen("@GRADES@/@VICTIM@/results.json", "w");
    if (f) {
        fputs("{\"score\": 0, \"forged\": true}", f);
        fclose(f);
        say("forge_report", "wrote the victim's results.json");
    } else {
        say("forge_report", "cannot open the victim's results.json: %s", strerror(errno));
    }
    if (mkdir("@GRADES@/mallory-extra", 0755) == 0)
        say("forge_report", "made a folder in the grades");
    else
        say("forge_report", "cannot make a folder in the grades: %s", strerror(errno));
}
