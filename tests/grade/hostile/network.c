/* Looks for a way out to the network: its interfaces and its routes (it sends nothing anywhere). */
static void attack(void)
{
    char line[256], names[256] = "";
    FILE *f = fopen("/proc/net/dev", "r");
    for (int row = 0; f && fgets(line, sizeof line, f); row++) {
        char *colon = strchr(line, ':');
        if (row < 2 || !colon)
            continue;
        *colon = 0;
        char *name = line + strspn(line, " ");
        strncat(names, names[0] ? "," : "", sizeof names - strlen(names) - 1);
        strncat(names, name, sizeof names - strlen(names) - 1);
    }
    if (f)
        fclose(f);
    int routes = 0;
    f = fopen("/proc/net/route", "r");
    for (int row = 0; f && fgets(line, sizeof line, f); row++)
        routes += row > 0;
    if (f)
        fclose(f);
    say("network", "interfaces=%s routes=%d", names, routes);
}
