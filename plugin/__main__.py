"""The zstack plugin's entry point: the language host runs `python <plugin directory> ENGINE_ADDRESS ...`
on the plugin's virtual environment, which requirements.txt fills with pulumi-zstack."""

from pulumi_zstack_provider.native import main

if __name__ == "__main__":
    main()
