using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace L3.Package.Tests;

/// <summary>
/// Packs the library, its kernels and the generator, and builds a consumer from the packages
/// alone. The version is unique per run, so the global package cache can never hand back a
/// package from an earlier build.
/// </summary>
public sealed class PackageConsumerTests(PackedFeed packed) : IClassFixture<PackedFeed>
{
    private readonly string _dir = packed.Root;
    private readonly string _version = packed.Version;

    internal static string RepositoryRoot([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", ".."));

    internal static (int Exit, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        // a consumer is not built by the test host's MSBuild node
        start.Environment["MSBUILDNOINPROCNODE"] = "1";
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBuildSDKsPath");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10))) { process.Kill(true); throw new TimeoutException($"dotnet {string.Join(' ', args)} hung"); }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void The_generator_package_ships_the_generator_as_an_analyzer_and_nothing_else()
    {
        string feed = packed.Feed;
        using var generator = ZipFile.OpenRead(Path.Combine(feed, $"L3.Gen.Generator.{_version}.nupkg"));
        var payload = generator.Entries.Select(e => e.FullName)
            .Where(n => !n.EndsWith(".nuspec") && !n.StartsWith("_rels/") && !n.StartsWith("package/") && n != "[Content_Types].xml").ToArray();
        Assert.Equal(["analyzers/dotnet/cs/L3.Generator.dll"], payload);

        // the library's package depends on a kernels package that exists in the same feed
        using var library = ZipFile.OpenRead(Path.Combine(feed, $"L3.Gen.{_version}.nupkg"));
        Assert.Contains(library.Entries, e => e.FullName == "lib/net10.0/L3.Runtime.dll");
        using var nuspec = new StreamReader(library.GetEntry("L3.Gen.nuspec")!.Open());
        Assert.Contains($"id=\"L3.Gen.Kernels\" version=\"{_version}\"", nuspec.ReadToEnd());
        Assert.True(File.Exists(Path.Combine(feed, $"L3.Gen.Kernels.{_version}.nupkg")));
    }

    [Fact]
    public void A_fresh_consumer_restores_the_packages_declares_a_profile_and_decodes()
    {
        string feed = packed.Feed;
        string consumer = Path.Combine(_dir, "consumer");
        Directory.CreateDirectory(consumer);
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="l3-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <WarningsNotAsErrors>NU1603</WarningsNotAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="L3.Gen" Version="{_version}" />
                <PackageReference Include="L3.Gen.Generator" Version="{_version}" PrivateAssets="all" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using L3;

            const int width = 100, height = 37, channels = 3;
            var pixels = new byte[width * height * channels];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 + i / 301);
            byte[] file = ConsumerProfile.Encode(pixels, height, channels);
            var decoded = new byte[pixels.Length];
            ConsumerProfile.Decode(file, decoded);
            var viaCodec = L3Codec.Decode(file);
            bool lossless = decoded.AsSpan().SequenceEqual(pixels) && viaCodec.Pixels.AsSpan().SequenceEqual(pixels);
            Console.WriteLine($"profile N={ConsumerProfile.N} width={ConsumerProfile.Width}: {(lossless ? "lossless" : "MISMATCH")}");
            Console.WriteLine($"decoded by: {L3Codec.DescribeDecoder(file)}");
            return lossless ? 0 : 1;

            [L3Profile(N = 16, Width = 100)]
            static partial class ConsumerProfile { }
            """);
        var (exit, output) = Dotnet(consumer, "run", "-c", "Release");
        Assert.True(exit == 0, $"the consumer failed:\n{output}");
        Assert.Contains("profile N=16 width=100: lossless", output);
        // the registration the generator emitted reached the runtime's dispatch
        Assert.Matches(@"decoded by: profile \S*ConsumerProfile", output);
    }
}

/// <summary>The three packages, packed once for the tests of this class.</summary>
public sealed class PackedFeed : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-package-").FullName;

    public string Root => _dir;
    public string Version { get; } = $"0.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
    public string Feed { get; }

    public PackedFeed() => Feed = Pack();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Packs from a copy of the sources (no bin/ or obj/), as a clean checkout would.</summary>
    private string Pack()
    {
        string feed = Path.Combine(_dir, "feed"), source = Path.Combine(_dir, "source");
        string root = PackageConsumerTests.RepositoryRoot();
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props" })
            CopyFile(Path.Combine(root, file), Path.Combine(source, file));
        string[] projects = ["kernels/L3.Kernels.csproj", "runtime/L3.Runtime.csproj", "generator/L3.Generator.csproj"];
        foreach (var project in projects)
        {
            string folder = Path.GetDirectoryName(project)!;
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(root, file);
                string[] parts = relative.Split(Path.DirectorySeparatorChar);
                if (parts.Contains("bin") || parts.Contains("obj")) continue;
                CopyFile(file, Path.Combine(source, relative));
            }
        }
        foreach (var project in projects)
        {
            var (exit, output) = PackageConsumerTests.Dotnet(source, "pack", project, "-c", "Release", "-o", feed, $"-p:Version={Version}");
            Assert.True(exit == 0, $"dotnet pack {project} failed:\n{output}");
        }
        return feed;
    }

    private static void CopyFile(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }
}
